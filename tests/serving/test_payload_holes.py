"""Issue 15 item 7: CSV payloads ``mlcore serve`` must refuse, not guess at."""

from __future__ import annotations

from typing import Any

from tests.serving.conftest import FEATURES, client_for


def test_a_csv_header_with_a_duplicated_column_is_a_400(store: dict[str, Any]) -> None:
    header = ",".join([*FEATURES, FEATURES[0]])
    row = ",".join(["1.0"] * (len(FEATURES) + 1))
    with client_for("models:/forest@champion", store) as client:
        response = client.post(
            "/invocations",
            content=f"{header}\n{row}\n",
            headers={"content-type": "text/csv"},
        )
        assert response.status_code == 400, response.text
        assert response.json()["error_code"] == "INVALID_INPUT"
        assert repr(FEATURES[0]) in response.json()["message"]
        assert "more than once" in response.json()["message"]
        spaced = f"{','.join(FEATURES)}, {FEATURES[0]} \n{row}\n"  # blanks around the name
        again = client.post("/invocations", content=spaced, headers={"content-type": "text/csv"})
        assert again.status_code == 400
