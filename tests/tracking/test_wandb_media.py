"""Media logged inside ``log({...}, step=)`` as W&B does, read back with ``run.media``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from PIL import Image as PILImage

import mlcore
import mlcore as wandb
from mlcore.errors import InvalidInputError, NotFoundError


@pytest.fixture(autouse=True)
def _store(tmp_path: Path) -> None:
    mlcore.set_tracking_uri(str(tmp_path / "store"))


def test_images_from_numpy_and_pil_per_step_with_captions() -> None:
    with wandb.init(project="media") as run:
        for step in range(3):
            pixels = np.full((8, 6, 3), step / 2.0)  # floats in [0, 1]
            run.log({"samples": wandb.Image(pixels, caption=f"step {step}"), "loss": 1.0})
        run.log({"pil": wandb.Image(PILImage.new("RGB", (5, 4), (255, 0, 0)))}, step=7)
    assert run.media_steps("samples") == [0, 1, 2]
    middle = run.media("samples", step=1)
    assert middle.kind == "image" and middle.caption == "step 1"
    assert middle.value.size == (6, 8) and middle.value.getpixel((0, 0)) == (127, 127, 127)
    assert run.media("samples").step == 2  # default: the latest step
    assert run.media("pil").value.getpixel((0, 0)) == (255, 0, 0)
    index = mlcore.get_tracker().download_artifacts(run.id, "media/index.json")
    assert '"samples"' in Path(index).read_text()
    with pytest.raises(NotFoundError):
        run.media("samples", step=5)


def test_tables_are_parquet_read_back_as_arrow_and_join_across_steps() -> None:
    with wandb.init(project="media") as run:
        table = wandb.Table(columns=["id", "pred"], data=[[1, "cat"], [2, "dog"]])
        table.add_data(3, "cat")
        run.log({"preds": table}, step=0)
        frame = pd.DataFrame({"id": [1, 2, 3], "pred": ["cat", "cat", "dog"]})
        run.log({"preds": wandb.Table(dataframe=frame)}, step=1)
    first, second = run.media("preds", step=0).value, run.media("preds", step=1).value
    assert isinstance(first, pa.Table) and first.num_rows == 3
    joined = first.join(second, "id", right_suffix="_later").sort_by("id")
    assert joined.column("pred_later").to_pylist() == ["cat", "cat", "dog"]


def test_histogram_and_html() -> None:
    with wandb.init() as run:
        run.log(
            {
                "weights": wandb.Histogram(np.arange(100), num_bins=10),
                "page": wandb.Html("<b>x</b>"),
            }
        )
    histogram = run.media("weights").value
    assert histogram["values"] == [10.0] * 10 and len(histogram["bins"]) == 11
    assert run.media("page").value == "<b>x</b>"


def test_bad_media_logs_nothing_of_the_call() -> None:
    with wandb.init() as run:
        with pytest.raises(InvalidInputError):
            run.log({"loss": 1.0, "bad": wandb.Image(np.zeros((2, 2, 7)))})
    with wandb.init() as run:
        with pytest.raises(InvalidInputError):
            wandb.Table(columns=["a"], data=[[1, 2]])
        mixed = wandb.Table(columns=["a"], data=[[1], ["x"]])
        with pytest.raises(InvalidInputError):
            run.log({"loss": 1.0, "t": mixed})
        assert run.step == 0
    assert mlcore.get_run(run.id).data.metrics == {}
