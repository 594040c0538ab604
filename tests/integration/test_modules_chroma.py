"""Chroma checked with chromadb.HttpClient: a collection added to and queried."""

from __future__ import annotations

import pytest

import testctr
from testctr.modules import chroma

pytestmark = pytest.mark.engine


def test_add_and_query_a_collection(request: pytest.FixtureRequest, runtime: str) -> None:
    db = testctr.new(request, chroma.IMAGE, chroma.default(), testctr.with_runtime(runtime))
    client = chroma.client(db)
    assert client.heartbeat() > 0
    # Own embeddings: the default embedding function would download a model.
    docs = client.create_collection("docs", embedding_function=None)
    docs.add(
        ids=["cat", "car", "dog"],
        documents=["a small cat", "a red car", "a loyal dog"],
        embeddings=[[1.0, 0.1, 0.0], [0.0, 0.0, 1.0], [0.9, 0.3, 0.0]],
    )
    found = docs.query(query_embeddings=[[1.0, 0.0, 0.0]], n_results=2)
    assert found["ids"] == [["cat", "dog"]]
    assert found["documents"] == [["a small cat", "a loyal dog"]]
    assert docs.count() == 3
