"""``zerograd evaluate``: a trained model's test accuracy, per class, and its confusion matrix."""

from __future__ import annotations

from ._common import add_model_source, class_names, load_model, path_arg, validated

__all__ = ["add_command"]


def _evaluate(args) -> int:
    from .. import nn
    from ..data import DataLoader
    from ..train import (
        RunConfig,
        confusion_matrix,
        evaluate,
        load_datasets,
        per_class_accuracy,
        predict,
    )

    model, dataset, model_name, name = load_model(args)
    dataset = args.dataset or dataset
    config = RunConfig(dataset=dataset, data_dir=args.data_dir, sample=args.sample)
    _, test_set, source = load_datasets(validated(config))
    result = evaluate(
        model,
        DataLoader(test_set, batch_size=1000),
        nn.CrossEntropyLoss(),
        metrics=("accuracy", "top5"),
    )
    print(f"{name}: {model_name} on {source}")
    print(
        f"accuracy {result['accuracy'] * 100:.2f}%  top-5 {result['top5'] * 100:.2f}%  "
        f"loss {result['loss']:.4f}"
    )
    x, t = next(iter(DataLoader(test_set, batch_size=len(test_set))))
    cm = confusion_matrix(predict(model, x), t, 10)
    names = [f"{i} {c}" if c != str(i) else c for i, c in enumerate(class_names(dataset))]
    print(
        "per-class accuracy: "
        + "  ".join(f"{n}: {a * 100:.1f}%" for n, a in zip(names, per_class_accuracy(cm)))
    )
    print("confusion matrix (rows: true class, columns: predicted):")
    for i, row in enumerate(cm):
        print(f"  {i} " + " ".join(f"{v:5d}" for v in row))
    return 0


def add_command(sub, parents) -> None:
    e = sub.add_parser(
        "evaluate",
        parents=parents,
        help="test accuracy, per class, and the confusion matrix",
        description="Evaluate a trained run (or shipped weights) on its data set's test split.",
    )
    add_model_source(e)
    e.add_argument(
        "--dataset",
        choices=["mnist", "fashion-mnist"],
        help="default: the one the model was trained on",
    )
    e.add_argument("--data-dir", type=path_arg, metavar="DIR", help="where the IDX files are")
    e.add_argument("--sample", action="store_true", help="evaluate on the embedded MNIST sample")
    e.set_defaults(func=_evaluate)
