"""What commands do, as library calls: push, sync, load, verify, values, helm commands, inspect."""
