"""Python's logging, print and an uncaught exception, as a workflow author writes them."""

import logging

from bifrost import workflow

log = logging.getLogger("sync")


@workflow
def logging_levels(fail: bool = False) -> str:
    logging.debug("debug line")
    logging.info("synced", extra={"rows": 42, "tags": ["a", "b"]})
    log.warning("careful %s", "now")
    logging.error("bad")
    logging.critical("worse", extra={"code": 7})
    try:
        {}["missing"]
    except KeyError:
        logging.exception("lookup failed")
    print("printed")
    if fail:
        raise ValueError("the input has no name")
    return "done"
