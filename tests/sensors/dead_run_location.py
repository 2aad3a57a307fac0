"""A code location for the dead-run test: one job whose step makes a scratch folder the way every Nexus
step does (resources.pipeline.PipelineConfig.workdir) and then waits, so the test can kill its worker."""

import time

import dagster as dg

from resources.pipeline import PipelineConfig


@dg.op
def hold_scratch(context: dg.OpExecutionContext) -> None:
    video_id = context.run.tags["dagster/partition"]
    with PipelineConfig().workdir(video_id, "rendered_video") as work:
        (work / "frame.png").write_bytes(b"x" * 1024)
        context.log.info(f"scratch at {work}")
        time.sleep(600)


@dg.job
def dead_run_job() -> None:
    hold_scratch()


defs = dg.Definitions(jobs=[dead_run_job])


def make_job() -> dg.JobDefinition:
    return dead_run_job



if __name__ == "__main__":  # the run in this very process, as `nexus run-video` runs one (dg.execute_job)
    import sys

    job = dg.build_reconstructable_job("tests.sensors.dead_run_location", "make_job")
    with dg.DagsterInstance.get() as instance:
        dg.execute_job(job, instance, tags={"dagster/partition": sys.argv[1]},
                       run_config={"execution": {"config": {"in_process": {}}}})
