"""The File Processors API: a file (uploaded now, or by file id) into text chunks."""
