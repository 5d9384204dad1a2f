"""The ERP actor types (`erp --actor-type`): here alone, so the CLI names them without
loading the profile models."""

from typing import Literal, get_args

ActorType = Literal["customers", "suppliers", "individuals"]
ACTOR_TYPES: tuple[str, ...] = get_args(ActorType)
