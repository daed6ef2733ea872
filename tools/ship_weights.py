"""Copy a trained run's weights into the package as shipped, pretrained weights.

    python tools/ship_weights.py RUN_DIR NAME

RUN_DIR is a folder made by ``zerograd train --out RUN_DIR`` (config.json, results.json,
model.safetensors); NAME is one of ``zerograd.models.PRETRAINED``. The file written,
``src/zerograd/models/weights/NAME.safetensors``, carries the model, its config, the data set, the
test accuracy and the command in its metadata.
"""

import argparse
import json
import os
import shlex

from zerograd.data.files import sha256_file
from zerograd.io import load, save
from zerograd.models import PRETRAINED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("name", choices=sorted(PRETRAINED))
    parser.add_argument("--command", required=True, help="the zerograd train command of the run")
    args = parser.parse_args()
    with open(os.path.join(args.run, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(args.run, "results.json")) as f:
        results = json.load(f)
    dest = os.path.join(
        os.path.dirname(__file__),
        "..",
        "src",
        "zerograd",
        "models",
        "weights",
        f"{args.name}.safetensors",
    )
    metadata = {
        "model": config["model"],
        "model_config": json.dumps(config["model_config"]),
        "dataset": config["dataset"],
        "test_accuracy": f"{results['test_accuracy']:.4f}",
        "epochs": str(results["epochs_run"]),
        "command": " ".join(shlex.split(args.command)),
    }
    save(load(os.path.join(args.run, "model.safetensors")), dest, metadata=metadata)
    print(f"wrote {os.path.normpath(dest)}: {metadata}")
    print(f'add to SHA256 in src/zerograd/models/hub.py: "{args.name}": "{sha256_file(dest)}",')


if __name__ == "__main__":
    main()
