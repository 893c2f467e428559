"""How each command's result looks: Rich tables and the notes and warnings on stderr (rendering only)."""
