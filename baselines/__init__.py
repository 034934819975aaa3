"""Baselines of the paper, each adapted with the same condition trajectories as the generators:
Multi-task BC (mtbc), CARE (care), hypernetwork meta-RL (hypernet), Decision Transformer (dt)."""
