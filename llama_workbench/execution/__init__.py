"""Where long jobs run: in this process (the default) or on a Ray cluster (`execution:`)."""
