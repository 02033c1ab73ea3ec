"""Tests of mnist_core/experiments/takeaways.py: the sentence each study ends with."""


from mnist_core import experiments as ex


def _summary(label, value, accuracy, **more):
    return {"group": more.pop("group", ""), "label": label, "value": value, "status": more.pop("status", "completed"),
            "test_accuracy": accuracy, "seeds": 1, **more}


def test_lr_takeaway_calls_a_loss_above_guessing_unstable():
    text = ex.lr_takeaway([_summary("lr 10", 10.0, None, status="diverged"),
                           _summary("lr 1", 1.0, 0.88, final_train_loss=6.5),
                           _summary("lr 0.1", 0.1, 0.85, final_train_loss=0.8),
                           _summary("lr 0.01", 0.01, 0.70, final_train_loss=1.9)])
    assert "best at lr 0.1" in text and "lr 0.01 too slow" in text and "lr 1 and 10 unstable" in text


def test_activation_takeaway_names_the_lowest_first_epoch_loss():
    text = ex.activation_takeaway([_summary("ReLU", "relu", 0.9, first_epoch_val_loss=0.30),
                                   _summary("Tanh", "tanh", 0.91, first_epoch_val_loss=0.25)])
    assert "so Tanh learned fastest" in text


def test_every_takeaway_survives_a_partial_experiment():
    rows = [ex.RunRow("x", 0, "a", "", "lr", 0.1, 0, "torch", "m", "stopped")]
    for study in ex.STUDIES.values():
        assert ex.takeaway(study, rows) == "No run finished, so there is nothing to compare yet."
        assert ex.takeaway(study, []) == "No run finished, so there is nothing to compare yet."


def test_seed_noise_note_only_with_repeats():
    assert ex.seed_noise_note([{"seeds": 1, "test_accuracy_std": None}]) == ""
    assert "typically ±1.0 points" in ex.seed_noise_note([{"label": "a", "seeds": 3, "test_accuracy_std": 0.01}])
