# ruff: noqa: E501  (the queries are data: kept one per line, as the model would send them)
"""The adversarial battery: queries the analyst must refuse, whoever writes them (>= 60), and
legitimate analytic queries it must run."""

from __future__ import annotations

BIG = "x" * 9000

ADVERSARIAL: list[str] = [
    # writes
    "INSERT INTO chat_messages (channel_id, text) VALUES (1, 'pwned')",
    "INSERT INTO chat_messages SELECT * FROM chat_messages",
    "INSERT INTO FUNCTION file('/tmp/x.csv', 'CSV', 'a String') SELECT 'a'",
    "DELETE FROM chat_messages WHERE 1",
    "ALTER TABLE chat_messages DELETE WHERE 1",
    "ALTER TABLE chat_messages UPDATE text = 'x' WHERE 1",
    "UPDATE chat_messages SET text = 'x' WHERE 1",
    "TRUNCATE TABLE chat_messages",
    "OPTIMIZE TABLE chat_messages FINAL",
    # DDL
    "DROP TABLE chat_messages",
    "DROP DATABASE streamscope",
    "CREATE TABLE evil (a String) ENGINE = Memory",
    "CREATE TABLE evil AS chat_messages",
    "CREATE VIEW v AS SELECT * FROM chat_messages",
    "CREATE DICTIONARY d (k UInt64, v String) PRIMARY KEY k SOURCE(FILE(path '/etc/passwd' format 'TSV')) LAYOUT(FLAT()) LIFETIME(0)",
    "RENAME TABLE chat_messages TO gone",
    "EXCHANGE TABLES chat_messages AND chat_events",
    "ALTER TABLE chat_messages ADD COLUMN evil String",
    "ATTACH TABLE x FROM '/tmp' (a String) ENGINE = Memory",
    "DETACH TABLE chat_messages",
    "CREATE USER evil IDENTIFIED BY 'x'",
    "GRANT ALL ON *.* TO default",
    "KILL QUERY WHERE 1",
    "SYSTEM SHUTDOWN",
    "SYSTEM DROP DNS CACHE",
    # settings changes
    "SET readonly = 0",
    "SET max_execution_time = 0",
    "SELECT 1 SETTINGS readonly = 0",
    "SELECT count() FROM chat_messages SETTINGS max_result_rows = 0, max_execution_time = 0",
    "SELECT * FROM (SELECT 1 SETTINGS max_memory_usage = 0)",
    "USE system",
    # output redirection and formats
    "SELECT * FROM chat_messages INTO OUTFILE '/tmp/dump.csv'",
    "SELECT * FROM chat_messages FORMAT CSV",
    "SELECT 1 FORMAT Null",
    # table functions
    "SELECT * FROM url('http://127.0.0.1:9/x', CSV, 'a String')",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM s3('http://127.0.0.1:9/b/k', 'CSV')",
    "SELECT * FROM remote('127.0.0.1', system.one)",
    "SELECT * FROM remoteSecure('127.0.0.1', default.chat_messages)",
    "SELECT * FROM cluster('default', system.users)",
    "SELECT * FROM mysql('127.0.0.1:3306', 'db', 't', 'u', 'p')",
    "SELECT * FROM postgresql('127.0.0.1:5432', 'db', 't', 'u', 'p')",
    "SELECT * FROM executable('id', 'TSV', 'a String')",
    "SELECT * FROM input('a String')",
    "SELECT * FROM numbers(100000000000)",
    "SELECT * FROM generateRandom('a String')",
    "SELECT * FROM merge('system', '.*')",
    "SELECT * FROM chat_messages AS m JOIN url('http://127.0.0.1:9/', CSV, 'a String') AS u ON 1",
    "SELECT * FROM hdfs('hdfs://h/f', 'CSV', 'a String')",
    # system and other databases
    "SELECT * FROM system.users",
    "SELECT name, value FROM system.settings",
    "SELECT * FROM system.tables",
    "SELECT * FROM `system`.`processes`",
    'SELECT * FROM "system"."query_log"',
    "SELECT * FROM INFORMATION_SCHEMA.TABLES",
    "SELECT * FROM information_schema.columns",
    "SELECT * FROM default.secrets",
    "SELECT (SELECT count() FROM system.processes)",
    "SELECT 1 FROM chat_messages WHERE user_id IN (SELECT 1 FROM system.users)",
    "WITH x AS (SELECT * FROM system.clusters) SELECT * FROM x",
    "SELECT * FROM chat_messages UNION ALL SELECT * FROM system.one",
    "SELECT * FROM schema_migrations",
    # a CTE hides a table only in its own query, and only under its exact (case-sensitive) name
    "SELECT * FROM (WITH dead_letters AS (SELECT 1) SELECT * FROM dead_letters) AS a, dead_letters",
    "WITH DEAD_LETTERS AS (SELECT 1) SELECT * FROM dead_letters",
    "SELECT * FROM dead_letters",
    # dictionaries, external access, server state via functions
    "SELECT dictGet('secrets', 'value', toUInt64(1))",
    "SELECT dictGetString('d', 'v', 1)",
    "SELECT dictHas('d', 1)",
    "SELECT joinGet('j', 'v', 1)",
    "SELECT file('/etc/passwd')",
    "SELECT getSetting('readonly')",
    "SELECT currentUser(), hostName(), fqdn()",
    "SELECT sleepEachRow(3) FROM chat_messages",
    "SELECT sleep(3)",
    "SELECT getMacro('shard')",
    "SELECT getServerPort('tcp_port')",
    # IN <table>: ClickHouse reads the named table (any table), also in function form
    "SELECT 1 IN system.one",
    "SELECT count() FROM chat_messages WHERE user_login IN (system.users)",
    "SELECT count() FROM chat_messages WHERE user_id GLOBAL NOT IN dead_letters",
    "SELECT count() FROM chat_messages WHERE (user_login, channel) IN schema_migrations",
    "SELECT globalIn(1, system.one)",
    "SELECT hasColumnInTable('system', 'users', 'name')",
    # multi-statement
    "SELECT 1; DROP TABLE chat_messages",
    "SELECT 1; SELECT 2",
    "SELECT count() FROM chat_messages;; INSERT INTO chat_messages (text) VALUES ('x')",
    # comment tricks
    "SELECT 1 /* harmless */; DROP TABLE chat_messages",
    "/* SELECT */ DROP TABLE chat_messages",
    "SELECT 1 -- \n; DROP TABLE chat_messages",
    "-- just a comment",
    "SELECT * FROM system/**/.users",
    # unicode tricks
    "SELECT 1\u200b; DROP TABLE chat_messages",
    "SELECT * FROM chat_messages\u202e",
    "SELECT 1\x00; DROP TABLE chat_messages",
    "SELECT * FROM ѕystem.users",  # Cyrillic s
    "SELECT * FROM chat\u00admessages",  # soft hyphen
    "SELECT 1\u2028DROP TABLE chat_messages",
    "ＳＥＬＥＣＴ * FROM system.users",  # fullwidth letters
    "SELECT * FROM chat_messages；DROP TABLE chat_messages",  # fullwidth semicolon
    # bound parameters and odd statements
    "SELECT * FROM {table:Identifier}",
    "EXPLAIN SELECT 1",
    "DESCRIBE TABLE chat_messages",
    "SHOW TABLES",
    "SHOW GRANTS",
    "CHECK TABLE chat_messages",
    # huge results and length
    BIG,
    "SELECT '" + BIG + "'",
    "",
    "   ",
]

# Legitimate analytic queries over the demo data: the guard must let them through and they must run.
LEGITIMATE: list[str] = [
    "SELECT count() FROM chat_messages FINAL",
    "SELECT user_login, count() AS n FROM chat_messages FINAL GROUP BY user_login ORDER BY n DESC LIMIT 10",
    "SELECT toStartOfMinute(sent_at) AS minute, count() AS n FROM chat_messages FINAL GROUP BY minute ORDER BY minute",
    "SELECT kind, count() FROM chat_events FINAL GROUP BY kind ORDER BY kind",
    "WITH per_user AS (SELECT user_id, count() AS n FROM chat_messages FINAL GROUP BY user_id) "
    "SELECT countIf(n = 1), countIf(n > 1) FROM per_user",
    "SELECT uniqExact(user_id) FROM chat_messages FINAL WHERE channel = 'xqcow'",
    "SELECT avg(lengthUTF8(text)) FROM chat_messages FINAL",
    "SELECT target_login, duration_s FROM chat_events FINAL WHERE kind = 'timeout' ORDER BY duration_s DESC, target_login LIMIT 5",
    "SELECT login FROM channels",
    "SELECT count() FROM chat_messages FINAL WHERE positionCaseInsensitive(text, 'lul') > 0",
    "SELECT m.user_login, count() FROM chat_messages AS m FINAL INNER JOIN chat_events AS e FINAL "
    "ON m.user_id = e.target_user_id GROUP BY m.user_login ORDER BY count() DESC LIMIT 3",
    "SELECT 'messages' AS what, count() FROM chat_messages FINAL UNION ALL SELECT 'events', count() FROM chat_events FINAL",
    "SELECT toHour(sent_at) AS h, count() FROM chat_messages FINAL GROUP BY h",
    "SELECT user_login, count() AS n FROM chat_messages FINAL GROUP BY user_login ORDER BY n DESC LIMIT 1 BY n",
    "SELECT quantileExact(0.5)(lengthUTF8(text)) FROM chat_messages FINAL",
    "SELECT sum(bits) FROM chat_messages FINAL WHERE bits > 0",
    "SELECT count() FROM chat_messages FINAL WHERE user_id IN (SELECT target_user_id FROM chat_events FINAL)",
    "SELECT count() FROM chat_messages FINAL WHERE user_login IN ('onche', 'xqcow') OR bits IN (100, 200)",
    "SELECT count() FROM chat_messages FINAL WHERE (user_login, channel) IN (('onche', 'xqcow'))",
    "SELECT badges, count() FROM chat_messages FINAL GROUP BY badges ORDER BY count() DESC LIMIT 5",
    "SELECT user_login, lagInFrame(sent_at) OVER (PARTITION BY user_id ORDER BY sent_at) FROM chat_messages FINAL LIMIT 5",
    "SELECT tags['subscriber'] AS sub, count() FROM chat_messages FINAL GROUP BY sub",
    "SELECT arrayJoin(splitByChar(' ', text)) AS word, count() AS n FROM chat_messages FINAL GROUP BY word ORDER BY n DESC LIMIT 10",
    "SELECT count() FROM chat_messages FINAL WHERE sent_at >= '2019-09-15 00:03:00' AND sent_at < '2019-09-15 00:04:00'",
]
