"What several test files share: a tiny semi-supervised run for the command line, and a signal sent once its first checkpoint is safe."
import signal, time
import pytest

@pytest.fixture
def tiny_semi_options():
    "Command-line options of a semi-supervised run on sklearn's digits: every phase, small enough for a test, long enough (6 epochs) to be stopped after its first checkpoint"
    return ['--dataset', 'digits', '--epochs', '6', '--width', '128', '--n_labels', '50', '--bs', '50']

@pytest.fixture
def stop_after_checkpoint():
    "A function `(process, checkpoint, sig=SIGINT)`: wait (up to 300 s) until the run's checkpoint exists, send the signal, return the process's exit status and error output"
    def stop(p, ck, sig=signal.SIGINT):
        deadline = time.time() + 300
        while not ck.exists() and p.poll() is None and time.time() < deadline: time.sleep(0.02)
        p.send_signal(sig)
        _, err = p.communicate(timeout=300)
        return p.returncode, err
    return stop
