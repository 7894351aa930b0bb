"""The partition of a stream: the Java client's default rule (murmur2 of the key), so that any
Kafka client agrees with the relay on which partition carries a stream."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from shared_kernel.kafka import murmur2, partition_for

pytestmark = pytest.mark.unit

# org.apache.kafka.common.utils.Utils.murmur2 of these keys, from Kafka's own UtilsTest
# (signed 32-bit Java ints). The Java partitioner takes toPositive(hash) % partitions.
JAVA_MURMUR2 = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}


@pytest.mark.parametrize("partitions", [1, 3, 6, 7, 12, 64])
@pytest.mark.parametrize("key", sorted(JAVA_MURMUR2))
def test_partition_matches_the_java_client(key: str, partitions: int) -> None:
    java = (JAVA_MURMUR2[key] & 0x7FFFFFFF) % partitions
    assert partition_for(key, partitions) == java


@pytest.mark.parametrize("partitions", [1, 6, 12])
@pytest.mark.parametrize(
    "key",
    ["", "a", "ab", "acc-0192d5e4-7c1e-7c8a-9f00-000000000001", "ticket-\u00e9t\u00e9", "x" * 257],
)
def test_partition_matches_aiokafkas_default_partitioner(key: str, partitions: int) -> None:
    all_partitions = list(range(partitions))
    expected = DefaultPartitioner()(key.encode(), all_partitions, all_partitions)
    assert partition_for(key, partitions) == expected


def test_murmur2_matches_aiokafkas_on_random_keys_of_every_length() -> None:
    rng = random.Random(14)
    keys = [rng.randbytes(length) for length in range(0, 200) for _ in range(5)]
    assert [murmur2(key) for key in keys] == [aiokafka_murmur2(key) for key in keys]
