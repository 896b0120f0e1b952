"""Grafana dashboards as code: the generator (:mod:`.dashboards`) and ``grafana push`` (:mod:`.push`).

One module per dashboard (chat, overview, session, health) over the building blocks of
:mod:`.panels`. :mod:`.push` needs the ``grafana`` extra (grafana-client); the generator needs
nothing beyond the standard library.
"""
