"""World-model queries on any seq-JEPA: infer the action between views, imagine a rollout, retrieve the next view.

seq-JEPA's predictor says what an unseen view will look like, in embedding space, from the views
seen so far and the action that leads to it. These functions put that to work::

    import seqjepa
    from seqjepa.world import infer_action, rollout, rank_candidates

    model = seqjepa.load()
    est = infer_action(model, views, actions, target)      # est.action (B, A), est.score (B,)
    imagined = rollout(model, views, actions, future)      # (B, T, D)
    ranking = rank_candidates(model, views, actions, next_action, candidates)   # .scores, .order

This package sits above :mod:`seqjepa.models` and uses only the model's public methods.
"""

from .grids import box_grid, geodesic_degrees, quaternion_to_axis_angle, rotation_grid, rotation_grid_resolution
from .queries import SEARCHABLE_SPACES, ActionEstimate, Ranking, infer_action, rank_candidates, rollout

__all__ = [
    "infer_action", "rollout", "rank_candidates", "ActionEstimate", "Ranking", "SEARCHABLE_SPACES",
    "rotation_grid", "rotation_grid_resolution", "box_grid", "geodesic_degrees", "quaternion_to_axis_angle",
]
