"""Shared test set-up: offline hubs, few threads, tiny towers."""
import os

# A hub tag must fail at once instead of retrying for ~45 s.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

# One thread: the machine has 2 cores and tests may run beside other work; oversubscribed
# threads made the suite several times slower here.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
