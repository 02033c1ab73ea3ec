"""Tests of mnist_core/cli/experiment.py: `python -m mnist_core experiment NAME` on synthetic data."""
import json




def test_cli_rejects_an_unknown_experiment_with_one_line(capsys):
    from mnist_core.cli import main

    assert main(["experiment", "lr-sweeep"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lr-sweeep" in err and "model-family" in err  # names the choices


def test_cli_prints_one_json_line_per_run(synthetic, monkeypatch, tmp_path, capsys):
    import mnist_core.data
    from mnist_core.cli import main

    monkeypatch.setattr(mnist_core.data, "load_mnist", lambda data_dir=None, **kw: synthetic)
    code = main(["experiment", "activation", "--subset", "10", "--epochs", "1", "--out", str(tmp_path),
                 "--threads", "1"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["value"] for line in lines] == ["relu", "tanh", "sigmoid"]
    for line in lines:
        assert 0 <= line["test_accuracy"] <= 1 and line["train_seconds"] > 0
        assert line["run_dir"].startswith(str(tmp_path))
    from mnist_core.runs import RunStore
    saved = RunStore(tmp_path).list()
    assert len(saved) == 3 and {r.extra["experiment"] for r in saved} == {"activation"}
