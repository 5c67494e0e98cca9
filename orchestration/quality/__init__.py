"""Quality gates: what must hold of the marts before anything is published."""
