"""The notebook widgets driven as a front end would: custom messages and state updates on a real stack."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm
from pydantic import SecretStr

from llama_workbench import BadRequestError, NotFoundError, Stack
from llama_workbench.core.redact import MASK, redact
from llama_workbench.jupyter.widgets import (
    ChatWidget,
    EvalDashboard,
    FineTuneMonitor,
    RAGExplorer,
    SafetyPanel,
    StackInspector,
    show,
)
from tests.support.rag import CORPUS_DIR
from tests.support.stub_server import StubOpenAIServer

EMAIL = "Write to me at jane.doe@acme-mail.com tomorrow."
PDF = "orrin_ridge_observatory_annual_report_2023.pdf"
SECRETS = ("sk-widget-secret-1", "hdr-secret-42", "url-secret-7")
JS_DIR = Path(__file__).resolve().parents[3] / "llama_workbench" / "jupyter" / "widgets" / "js"


class FrontEnd(BaseComm):
    """A comm that records what the kernel sends, as a browser's widget manager receives it."""

    sent: list[dict[str, Any]]

    def publish_msg(self, msg_type: str, data: Any = None, *args: Any, **kw: Any) -> None:
        if not hasattr(self, "sent"):
            self.sent = []
        self.sent.append({"msg_type": msg_type, "data": data})

    def custom(self) -> list[dict[str, Any]]:
        return [
            m["data"]["content"]
            for m in self.sent
            if m["data"] and m["data"].get("method") == "custom"
        ]

    def message(self, content: dict[str, Any]) -> None:
        """A custom message from the view (`model.send(content)` in the JS)."""
        self.handle_msg(
            {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
        )

    def update(self, **state: Any) -> None:
        """A state change from the view (`model.set(...); model.save_changes()`)."""
        self.handle_msg({"content": {"data": {"method": "update", "state": state}}, "buffers": []})


@pytest.fixture(autouse=True)
def front_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", FrontEnd)


def view(widget: Any) -> FrontEnd:
    assert isinstance(widget.comm, FrontEnd)
    return widget.comm


@pytest.fixture(scope="module")
def server() -> Iterator[StubOpenAIServer]:
    with StubOpenAIServer(models=["stub-model", "stub-embed"]) as s:
        yield s


@pytest.fixture(scope="module")
def stack(server: StubOpenAIServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base_url = server.base_url.replace("://", "://widget:url-secret-7@")
    inference = {
        "base_url": base_url,
        "api_key": "sk-widget-secret-1",
        "embedding_models": {"stub-embed": 3},
        "extra_headers": {"Authorization": "Bearer hdr-secret-42", "X-Trace": "visible-value"},
    }
    config = {
        "data_dir": str(tmp_path_factory.mktemp("widgets")),
        "apis": ["inference", "files", "vector_io", "safety", "datasetio", "scoring", "eval"],
        "providers": {
            "inference": [
                {"provider_id": "s", "provider_type": "remote::vllm", "config": inference}
            ],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs", "config": {}}],
            "vector_io": [{"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}}],
            "safety": [{"provider_id": "pii", "provider_type": "inline::pii", "config": {}}],
            "datasetio": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
            "scoring": [{"provider_id": "basic", "provider_type": "inline::basic"}],
            "eval": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
        },
        "registered_resources": {
            "datasets": [
                {
                    "dataset_id": "echo-qa",
                    "purpose": "eval/question-answer",
                    "source": {
                        "type": "rows",
                        "rows": [
                            {"question": "Say kiwi", "answer": "kiwi"},
                            {"question": "Say nothing", "answer": "moa"},
                        ],
                    },
                }
            ],
            "benchmarks": [
                {
                    "benchmark_id": "echo",
                    "dataset_id": "echo-qa",
                    "scoring_functions": ["basic::subset_of"],
                }
            ],
            "shields": [
                {"shield_id": "pii", "provider_id": "pii"},
                {
                    "shield_id": "pii-answers",
                    "provider_id": "pii",
                    "params": {"roles": ["assistant"]},
                },
                {"shield_id": "pii-warn", "provider_id": "pii", "params": {"level": "warn"}},
            ],
        },
    }
    with Stack.from_config(config) as s:
        yield s


@pytest.fixture(scope="module")
def docs(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A store with two small texts, the corpus PDF (four pages) and a broken PDF; and an empty one."""
    folder = tmp_path_factory.mktemp("docs")
    (folder / "birds.txt").write_text("Kiwi birds cannot fly. They live in New Zealand.")
    (folder / "scopes.md").write_text("# Telescopes\n\nThe ridge observatory has a mirror.")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    store = stack.vector_io.create_vector_store(name="docs")
    for path in [*sorted(folder.iterdir()), CORPUS_DIR / PDF]:
        uploaded = stack.files.upload_file(str(path))
        stack.vector_io.attach_file(store.id, uploaded.id)
    empty = stack.vector_io.create_vector_store(name="empty")
    return {"docs": store.id, "empty": empty.id}


def _done(widget: Any) -> None:
    assert widget.wait(timeout=15), "background work did not finish"


def _chat_requests(server: StubOpenAIServer) -> list[dict[str, Any]]:
    return [r for r in server.requests if r["path"] == "/v1/chat/completions"]


def _text(widget: Any) -> str:
    data, _ = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    return str(data["text/plain"])


# ----------------------------------------------------------------------------- chat


def test_chat_streams_tokens_and_keeps_the_history(stack: Stack, server: StubOpenAIServer) -> None:
    chat = ChatWidget(stack, system="Be brief.")
    assert chat.models == ["s/stub-model"] and chat.model == "s/stub-model"
    assert chat.shields == ["pii", "pii-answers", "pii-warn"] and chat.selected_shields == []
    front = view(chat)
    front.update(temperature=0.2, max_tokens=64)
    front.message({"type": "send", "prompt": "hello there world"})
    _done(chat)
    assert chat.error == ""
    assert chat.messages == [
        {"role": "user", "content": "hello there world"},
        {"role": "assistant", "content": "echo: hello there world"},
    ]
    assert (chat.pending, chat.partial, chat.streaming, chat.busy) == ("", "", False, False)
    tokens = [m for m in front.custom() if m["type"] == "token"]
    assert [t["text"] for t in tokens] == ["echo:", " hello", " there", " world"]
    assert [t["offset"] for t in tokens] == [0, 5, 11, 17]
    # A view opened mid-answer reads `partial`: it was synced while the answer grew.
    partials = [
        m["data"]["state"]["partial"]
        for m in front.sent
        if m["data"] and "partial" in m["data"].get("state", {})
    ]
    assert "echo:" in partials and partials[-1] == ""
    body = _chat_requests(server)[-1]["body"]
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (body["temperature"], body["stream"]) == (0.2, True)

    chat.send("and again")
    _done(chat)
    assert [m["content"] for m in chat.messages][-1] == "echo: and again"
    assert len(_chat_requests(server)[-1]["body"]["messages"]) == 4  # system + 3 messages
    assert "assistant: echo: and again" in _text(chat)
    assert chat.transcript().startswith("user: hello there world\n\nassistant: echo: hello")

    front.message({"type": "clear"})
    assert chat.messages == [] and "0 messages" in repr(chat)


def test_chat_never_blocks_the_kernel_and_shows_errors(
    stack: Stack, server: StubOpenAIServer
) -> None:
    chat = ChatWidget(stack)
    front = view(chat)
    server.fail_next(400, '{"error": {"message": "context too long"}}', delay_s=0.5)
    started = time.monotonic()
    front.message({"type": "send", "prompt": "hi"})
    assert time.monotonic() - started < 0.3 and chat.busy and chat.pending == "hi"
    front.message({"type": "send", "prompt": "one more"})  # refused while answering
    assert "Still answering" in chat.error
    _done(chat)
    assert "context too long" in chat.error
    assert chat.messages == [] and chat.pending == "" and not chat.busy

    front.message({"type": "send", "prompt": "   "})
    assert chat.error == "BadRequestError: Type a message first."
    front.message({"type": "dance"})
    assert "Unknown widget action 'dance'" in chat.error
    front.update(model="s/no-such-model")
    front.message({"type": "send", "prompt": "hi"})
    _done(chat)
    assert "NotFoundError" in chat.error and "s/no-such-model" in chat.error
    assert chat.messages == [] and "error: NotFoundError" in _text(chat)

    with pytest.raises(NotFoundError, match="Available: s/stub-model"):
        ChatWidget(stack, model="gpt-x")
    with pytest.raises(NotFoundError, match="Shield 'llama-guard' not found"):
        ChatWidget(stack, shields=["llama-guard"])


def test_chat_shield_blocks_the_prompt_before_the_model_sees_it(
    stack: Stack, server: StubOpenAIServer
) -> None:
    chat = ChatWidget(stack, shields=["pii"])
    before = len(_chat_requests(server))
    view(chat).message({"type": "send", "prompt": EMAIL})
    _done(chat)
    assert len(_chat_requests(server)) == before
    v = chat.violation
    assert (v["shield_id"], v["stage"], v["level"], v["blocked"]) == (
        "pii",
        "prompt",
        "error",
        True,
    )
    assert v["categories"] == ["email"] and v["text"] == EMAIL
    assert chat.messages == [] and chat.pending == "" and chat.error == ""
    assert "blocked by pii (prompt, error)" in _text(chat)

    chat.send("No contact details here.")  # a clean prompt goes through and clears the finding
    _done(chat)
    assert chat.violation == {} and len(chat.messages) == 2


def test_chat_shield_on_the_answer_keeps_a_blocked_answer_out_of_the_history(
    stack: Stack,
) -> None:
    chat = ChatWidget(stack, shields=["pii-answers"])  # checks assistant messages only
    front = view(chat)
    front.message({"type": "send", "prompt": EMAIL})
    _done(chat)
    assert any(m["type"] == "token" for m in front.custom())  # it was streamed, then blocked
    assert chat.violation["stage"] == "answer" and chat.violation["blocked"]
    assert chat.messages == [] and chat.partial == ""

    front.update(selected_shields=["pii-warn"])  # a warning is shown; the answer is kept
    front.message({"type": "send", "prompt": EMAIL})
    _done(chat)
    assert chat.violation["level"] == "warn" and not chat.violation["blocked"]
    assert chat.messages[-1]["content"] == "echo: " + EMAIL
    assert "flagged by pii-warn" in repr(chat)


def test_stop_ends_the_stream_and_keeps_what_was_written(stack: Stack) -> None:
    chat = ChatWidget(stack)
    prompt = " ".join(f"word{i}" for i in range(400))

    def stop_on_first_text(change: dict[str, Any]) -> None:
        if change["new"]:
            view(chat).message({"type": "stop"})

    chat.observe(stop_on_first_text, names="partial")
    chat.send(prompt)
    _done(chat)
    chat.unobserve(stop_on_first_text, names="partial")
    answer = chat.messages[-1]["content"]
    assert answer.startswith("echo:") and len(answer) < len("echo: " + prompt) // 10
    assert (chat.status, chat.streaming, chat.error) == ("stopped", False, "")

    chat.send("after the stop")  # the stopped stream left nothing behind
    _done(chat)
    assert chat.messages[-1]["content"] == "echo: after the stop" and chat.status == ""


# ----------------------------------------------------------------------------- RAG


def test_rag_explorer_lists_stores_files_and_ingestion_errors(
    stack: Stack, docs: dict[str, str]
) -> None:
    rag = RAGExplorer(stack, store="docs")
    by_name = {s["name"]: s for s in rag.stores}
    assert by_name["docs"]["completed"] == 3 and by_name["docs"]["failed"] == 1
    assert by_name["docs"]["total"] == 4 and by_name["empty"]["total"] == 0
    assert rag.store_id == docs["docs"]
    files = {f["filename"]: f for f in rag.files}
    assert set(files) == {"birds.txt", "scopes.md", "broken.pdf", PDF}
    assert files["broken.pdf"]["status"] == "failed"
    assert "not a readable PDF" in files["broken.pdf"]["error"]
    assert files[PDF]["status"] == "completed" and files[PDF]["error"] == ""
    text = _text(rag)
    assert "* docs" in text and "broken.pdf: failed - broken.pdf: not a readable PDF" in text

    front = view(rag)
    front.message({"type": "select", "store_id": "empty"})  # by name
    _done(rag)
    assert rag.store_id == docs["empty"] and rag.files == []
    front.update(store_id=docs["docs"])  # the view picks a row
    _done(rag)
    assert len(rag.files) == 4
    front.message({"type": "select", "store_id": "nope"})
    assert "Vector store 'nope' not found" in rag.error


def test_rag_explorer_searches_in_every_mode(stack: Stack, docs: dict[str, str]) -> None:
    rag = RAGExplorer(stack, store=docs["docs"])
    front = view(rag)
    front.message({"type": "search", "query": "kiwi birds", "mode": "keyword", "top_k": 3})
    _done(rag)
    assert rag.error == "" and rag.searched["mode"] == "keyword"
    first = rag.results[0]
    assert (first["rank"], first["filename"]) == (1, "birds.txt")
    assert "Kiwi birds cannot fly" in first["text"] and isinstance(first["score"], float)

    rag.search("FROSTLINE infrared camera", mode="keyword", top_k=2)
    _done(rag)
    top = rag.results[0]
    assert top["filename"] == PDF and "FROSTLINE" in top["text"]
    # FROSTLINE is on page 3; the chunk holding it runs across pages (its span is shown).
    assert top["page"] <= 3 <= top["page_end"] and top["page"] < top["page_end"]
    assert f"1. {top['score']:.3f} {PDF} p.{top['page']}-{top['page_end']}: " in _text(rag)

    for mode in ("vector", "hybrid"):
        front.message({"type": "search", "query": "telescope mirror", "mode": mode})
        _done(rag)
        assert rag.error == "" and rag.results and rag.searched["mode"] == mode
        assert [r["rank"] for r in rag.results] == list(range(1, len(rag.results) + 1))
        assert len(rag.results) <= 2  # top_k stays as the last search set it

    front.message({"type": "search", "query": "  "})
    assert rag.error == "BadRequestError: Type a query first."
    front.message({"type": "search", "query": "x", "mode": "semantic"})
    assert "TraitError" in rag.error and rag.mode == "hybrid"


# ----------------------------------------------------------------------------- safety


def test_safety_panel_shows_level_message_and_categories(stack: Stack) -> None:
    panel = SafetyPanel(stack)
    assert panel.shields == ["pii", "pii-answers", "pii-warn"] and panel.shield_id == "pii"
    front = view(panel)
    front.message({"type": "run", "text": EMAIL, "shield_id": "pii"})
    _done(panel)
    r = panel.result
    assert (r["safe"], r["level"], r["categories"]) == (False, "error", ["email"])
    assert r["user_message"] and r["metadata"]["types"] == ["email"]
    assert "pii: error:" in _text(panel) and "categories: email" in _text(panel)

    front.update(shield_id="pii-warn", text="No contact details.")
    front.message({"type": "run"})
    _done(panel)
    assert panel.result["safe"] and panel.result["level"] == "none"
    assert "pii-warn: no violation" in repr(panel)

    panel.run(EMAIL)
    _done(panel)
    assert panel.result["level"] == "warn"
    front.message({"type": "run", "text": EMAIL, "shield_id": "toxicity"})
    _done(panel)
    assert "Shield 'toxicity' not found" in panel.error and panel.result == {}


# ----------------------------------------------------------------------------- inspector


def test_inspector_tree_with_health_and_no_secrets(stack: Stack, docs: dict[str, str]) -> None:
    inspector = show("inspector", stack)
    assert isinstance(inspector, StackInspector) and inspector.health == "OK"
    tree = {node["api"]: node["providers"] for node in inspector.tree}
    assert set(tree) == {a.value for a in stack.apis} and tree["models"] == []
    (inference,) = tree["inference"]
    assert inference["provider_type"] == "remote::vllm" and inference["health"]["status"] == "OK"
    assert {r["id"] for r in inference["resources"]} == {"s/stub-model", "s/stub-embed"}
    assert {r["id"] for r in tree["safety"][0]["resources"]} == {"pii", "pii-answers", "pii-warn"}
    assert docs["docs"] in {r["id"] for r in tree["vector_io"][0]["resources"]}
    assert inspector.counts == {"model": 2, "shield": 3, "vector_store": 2}
    config = inference["config"]
    assert config["api_key"] == MASK and config["extra_headers"]["Authorization"] == MASK
    assert config["extra_headers"]["X-Trace"] == "visible-value" and config["timeout_s"] == 120.0
    assert config["base_url"].startswith(f"http://widget:{MASK}@127.0.0.1:")

    view(inspector).message({"type": "refresh"})
    _done(inspector)
    shown = json.dumps([inspector.get_state(), view(inspector).sent, _text(inspector)])
    assert "remote::vllm" in shown and "visible-value" in shown
    for secret in SECRETS:
        assert secret not in shown


def test_redact_masks_credentials_and_keeps_settings() -> None:
    config = {
        "password": SecretStr("pw"),
        "token": "abc",
        "max_tokens": 12,
        "use_auth": True,
        "dsn": "postgresql://app:hunter2@db/x",
        "nested": [{"x-api-key": "k"}, "Bearer abc.def"],
        "url": "http://h/v1?key=zzz&page=2",
    }
    assert redact(config) == {
        "password": MASK,
        "token": MASK,
        "max_tokens": 12,
        "use_auth": True,
        "dsn": MASK,
        "nested": [{"x-api-key": MASK}, f"Bearer {MASK}"],
        "url": f"http://h/v1?key={MASK}&page=2",
    }


# ----------------------------------------------------------------------------- show() and the JS


def test_show_builds_each_widget_by_name(stack: Stack, docs: dict[str, str]) -> None:
    assert isinstance(show("chat", stack, shields=["pii"]), ChatWidget)
    assert isinstance(show("rag", stack), RAGExplorer)
    assert isinstance(show("safety", stack, shield="pii-warn"), SafetyPanel)
    assert isinstance(show("eval", stack), EvalDashboard)
    with pytest.raises(BadRequestError, match="use one of: chat, rag, safety, inspector, eval"):
        show("plot", stack)


def test_eval_dashboard_runs_a_job_into_rows_and_scores(stack: Stack) -> None:
    dashboard = EvalDashboard(stack, benchmark="echo", model="s/stub-model")
    assert dashboard.benchmarks == ["echo"] and "s/stub-model" in dashboard.models
    view(dashboard).message({"type": "run", "num_examples": 0})
    _done(dashboard)
    assert dashboard.error == "" and dashboard.job["status"] == "completed"
    assert dashboard.job["completed_rows"] == dashboard.job["total_rows"] == 2
    assert [r["generated_answer"] for r in dashboard.rows] == [
        "echo: Say kiwi",
        "echo: Say nothing",
    ]
    assert [r["basic::subset_of"] for r in dashboard.rows] == [1.0, 0.0]
    assert dashboard.aggregates["basic::subset_of"]["accuracy"] == 0.5
    assert "mlflow ui --backend-store-uri sqlite:///" in dashboard.job["mlflow_command"]
    assert list(dashboard.frame()["question"]) == ["Say kiwi", "Say nothing"]
    text = _text(dashboard)
    assert "completed, 2/2 rows" in text and "basic::subset_of: accuracy=0.5" in text
    with pytest.raises(NotFoundError):
        EvalDashboard(stack, benchmark="nope")
    view(dashboard).update(model="")
    view(dashboard).message({"type": "run"})
    assert dashboard.error == "BadRequestError: Pick a benchmark and a model first."


@pytest.mark.parametrize("name", ["chat", "rag", "safety", "inspector", "eval", "finetune"])
def test_each_view_is_one_module_with_documented_test_ids(name: str) -> None:
    source = (JS_DIR / f"{name}.js").read_text()
    assert (JS_DIR / f"{name}.css").is_file()
    assert "export default {" in source and "render({ model, el })" in source
    # Its one import is the shared widget.js, by value (build.py); h() and svg() live there.
    imports = re.findall(r"^\s*import\s.*$", source, re.MULTILINE)
    assert len(imports) == 1 and 'from "data:text/javascript;base64,' in imports[0]
    assert not re.search(r"^(export )?(function (h|svg)\(|const SVG\b)", source, re.MULTILINE)
    header = "".join(line for line in source.splitlines() if line.startswith("//"))
    used = set(re.findall(r'testid: "([\w-]+)"', source))
    assert used and all(testid in header for testid in used), used


@pytest.mark.parametrize(
    ("cls", "name"),
    [
        (ChatWidget, "chat"),
        (RAGExplorer, "rag"),
        (SafetyPanel, "safety"),
        (StackInspector, "inspector"),
        (EvalDashboard, "eval"),
        (FineTuneMonitor, "finetune"),
    ],
)
def test_each_widget_sends_its_own_files(cls: type, name: str) -> None:
    """What anywidget ships to the browser: the view's file and its stylesheet, as they are
    (files anywidget reads, and watches with ANYWIDGET_HMR=1)."""
    from anywidget._file_contents import FileContents

    esm, css = cls._esm, cls._css  # type: ignore[attr-defined]
    assert isinstance(esm, FileContents) and isinstance(css, FileContents)
    assert (esm._path, css._path) == (JS_DIR / f"{name}.js", JS_DIR / f"{name}.css")
    assert str(esm) == (JS_DIR / f"{name}.js").read_text()
    assert str(css).split("\n", 2)[1].startswith('@import url("data:text/css;base64,')
