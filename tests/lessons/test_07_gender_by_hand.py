"""Lesson 7: the 2-2-1 sigmoid net by hand and with autograd, step for step."""

import numpy as np
import pytest
from lesson_helpers import NEEDS_MATPLOTLIB, assert_png, run_lesson, run_lesson_script
from torch_ref import NEEDS_TORCH

import zerograd as zg

DATA = np.array([(0, 0), (27, 17), (19, 12), (-13, -13), (27, 10), (-13, 0)], dtype=np.float64)
LABELS = np.array([0, 1, 1, 0, 1, 0], dtype=np.float64)
NAMES = ["w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3"]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_lesson("07_gender_by_hand", tmp_path_factory.mktemp("07_gender_by_hand"))


def initial_weights(seed: int) -> np.ndarray:
    zg.manual_seed(seed)
    return zg.randn(9, dtype=zg.float64).numpy()


def test_hand_and_autograd_agree_at_every_step(quick):
    assert quick["epochs"] == 1000 and quick["steps"] == 6000  # --quick is the full run
    assert quick["max_diff"] < 1e-12
    for person, p in quick["predictions"].items():
        np.testing.assert_allclose(quick["predictions_autograd"][person], p, rtol=1e-12)


def test_initial_loss_is_the_mse_of_the_seeded_draw(quick):
    w1, w2, w3, w4, w5, w6, b1, b2, b3 = initial_weights(0)
    sig = lambda z: 1 / (1 + np.exp(-z))
    h1 = sig(DATA @ [w1, w2] + b1)
    h2 = sig(DATA @ [w3, w4] + b2)
    y = sig(w5 * h1 + w6 * h2 + b3)
    np.testing.assert_allclose(quick["initial_loss"], np.mean((LABELS - y) ** 2), rtol=1e-12)


def test_trained_weights_match_torch(tmp_path):
    torch = pytest.importorskip("torch", reason=NEEDS_TORCH)
    epochs = 100  # 600 per-sample steps: enough to compare, quick in torch too
    r = run_lesson_script("07_gender_by_hand", tmp_path, "--epochs", str(epochs))
    w = torch.tensor(initial_weights(0), dtype=torch.float64)
    W1 = w[:4].reshape(2, 2).clone().requires_grad_()
    W2 = w[4:6].reshape(1, 2).clone().requires_grad_()
    b1 = w[6:8].clone().requires_grad_()
    b2 = w[8:].clone().requires_grad_()
    opt = torch.optim.SGD([W1, b1, W2, b2], lr=0.1)
    X, T = torch.tensor(DATA), torch.tensor(LABELS).reshape(6, 1)
    for _ in range(epochs):
        for i in range(6):
            h = torch.sigmoid(X[i : i + 1] @ W1.T + b1)
            loss = ((torch.sigmoid(h @ W2.T + b2) - T[i : i + 1]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    expected = torch.cat([W1.flatten(), W2.flatten(), b1, b2]).detach().numpy()
    got = np.array([r["params"][n] for n in NAMES])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_the_trained_net_tells_the_new_people_apart(quick):
    assert quick["final_loss"] < 0.01 < quick["initial_loss"]
    assert quick["predictions"]["(47, 11)"] > 0.9
    assert quick["predictions"]["(-23, -5)"] < 0.1


def test_loss_curve_png_and_printed_lines(tmp_path, capsys):
    r = run_lesson("07_gender_by_hand", tmp_path)
    pytest.importorskip("matplotlib", reason=NEEDS_MATPLOTLIB)
    assert r["pngs"] == [r["loss_png"]]
    assert_png(r["loss_png"])
    out = capsys.readouterr().out
    assert "seed 0: initial weights from N(0, 1)" in out
    assert "max |hand - autograd| over all 6000 steps and 9 parameters:" in out
    assert "prediction for (47, 11): 0.9" in out
    assert "prediction for (-23, -5): 0.0" in out
    assert " 1000  " in out  # the loss table reaches the last epoch


def test_seed_changes_the_start_and_repeats(tmp_path):
    # scripts: the notebook runs in the kernel are the module fixture's and the picture test's
    a = run_lesson_script("07_gender_by_hand", tmp_path / "a", "--seed", "3", "--epochs", "5")
    b = run_lesson_script("07_gender_by_hand", tmp_path / "b", "--seed", "3", "--epochs", "5")
    c = run_lesson_script("07_gender_by_hand", tmp_path / "c", "--seed", "4", "--epochs", "5")
    assert a["params"] == b["params"]
    assert a["params"] != c["params"]
    assert a["max_diff"] < 1e-12 and a["steps"] == 30
