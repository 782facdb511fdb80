"""Scientific representation (Med-MCI step 1): where knowledge entities sit on value-chain stages, how well they
cover a cluster or meta-cluster, the same organisation seen twice, and whom to invite. Pure functions over domain
objects: no Flask, no database."""
