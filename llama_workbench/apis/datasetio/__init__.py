"""The DatasetIO API: read the rows of registered datasets a page at a time, and append rows."""
