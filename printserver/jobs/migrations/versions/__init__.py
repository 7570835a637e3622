"""One file per schema revision, oldest first: ``0001`` the schema of the releases before
revisions, ``0002`` the timeline and the listing indexes."""
