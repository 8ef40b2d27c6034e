"""What a Django service needs to connect: its `DATABASES` entry and read-only models of the
other services' columns it may read. Pure text generation; Django itself is not imported."""
