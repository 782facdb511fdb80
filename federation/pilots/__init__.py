"""Pilots: a meta-cluster the hub team takes forward, with its participants, working teams, activities, outcomes
and report (Med-MCI step 2 in practice)."""
