"""A Python workflow (built with componentize-py against wit/, world `workflow`) that
prints a line and then raises: an uncaught exception, which traps the instance."""

import wit_world


class WitWorld(wit_world.WitWorld):
    def run(self, input: str) -> str:
        print("starting", flush=True)
        raise ValueError("the input has no name")
