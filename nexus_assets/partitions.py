"""One dynamic partition per video id."""

import dagster as dg

VIDEOS_PARTITION = "videos"

videos_partitions = dg.DynamicPartitionsDefinition(name=VIDEOS_PARTITION)
