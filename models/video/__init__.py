"""电子眼 video supervision: cameras at windows and halls, bookmarks of case events in their
recordings, and moments marked as evidence for faults and cases.
May import ``catalogue``, ``cases``, ``supervision`` (faults) and the shared modules."""
