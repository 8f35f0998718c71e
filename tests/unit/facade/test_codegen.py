"""The typed faces agree with the Protocols they are generated from, and are what the generator writes."""

from __future__ import annotations

import inspect

import pytest

from llama_workbench.core.protocols import protocol_methods
from llama_workbench.facade import _codegen
from llama_workbench.facade._runtime import AsyncFace, Face, SyncFace

PROTOCOLS = _codegen.api_protocols()


def _faces(module_kind: str, api: str) -> dict[str, type[Face]]:
    module = __import__(f"llama_workbench.facade.{module_kind}.{api}", fromlist=["_"])
    return {
        name: cls
        for name, cls in vars(module).items()
        if isinstance(cls, type) and issubclass(cls, Face) and cls.__module__ == module.__name__
    }


def _public(cls: type) -> set[str]:
    return {n for n in vars(cls) if not n.startswith("_")}


def test_committed_faces_are_what_the_generator_writes() -> None:
    stale = _codegen.differences()
    assert stale == [], f"run `python -m llama_workbench.facade._codegen` (stale: {stale})"


@pytest.mark.parametrize("api", sorted(a.value for a in PROTOCOLS))
def test_every_protocol_method_has_its_face_with_the_same_parameters(api: str) -> None:
    protocol = next(p for a, p in PROTOCOLS.items() if a.value == api)
    protocols = [protocol, *getattr(protocol, "__sub_protocols__", {}).values()]
    for kind, base in (("sync", SyncFace), ("aio", AsyncFace)):
        faces = _faces(kind, api)
        for proto in protocols:
            face = faces[_codegen.face_name(proto, kind == "sync")]
            assert issubclass(face, base)
            subs = set(getattr(proto, "__sub_protocols__", {}))
            assert _public(face) == set(protocol_methods(proto)) | subs, face
            for name, fn in protocol_methods(proto).items():
                _check_method(face, name, fn, is_async=kind == "aio")


def _check_method(face: type[Face], name: str, fn: object, *, is_async: bool) -> None:
    method = getattr(face, name)
    assert inspect.iscoroutinefunction(method) is is_async, name
    assert inspect.getdoc(method).startswith(inspect.getdoc(fn))  # type: ignore[arg-type, union-attr]
    got = list(inspect.signature(method).parameters.values())[1:]
    request = _codegen.request_model(fn)  # type: ignore[arg-type]
    if request is None:  # the Protocol's own parameters, kinds and defaults
        wanted = list(inspect.signature(fn).parameters.values())[1:]  # type: ignore[arg-type]
        assert [(p.name, p.kind, p.default) for p in got] == [
            (p.name, p.kind, p.default) for p in wanted
        ], name
        return
    fields = request.model_fields
    named = [p for p in got if p.kind is p.KEYWORD_ONLY]
    assert {p.name for p in named} == set(fields), name
    for p in named:
        assert (p.default is p.empty) is fields[p.name].is_required(), (name, p.name)
    extra = [p for p in got if p.kind is p.VAR_KEYWORD]
    assert bool(extra) is (request.model_config.get("extra") == "allow"), name
    assert len(named) + len(extra) == len(got), name  # nothing by position
