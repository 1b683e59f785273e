"""The built-in plugin: eligibility policies, duty kinds and calendars shipped with leftbehind.

Registered by :func:`leftbehind.plugins.make_plugin_manager` through the same ``register()`` as
third-party plugins, with ``trylast=True``; disable it with
``LEFTBEHIND_DISABLED_PLUGINS=leftbehind.builtins`` to replace every default.
"""

from __future__ import annotations

from leftbehind.domain.eligibility import NationalPolicy, PlanPolicy
from leftbehind.hookspecs import PolicyRecord
from leftbehind.plugins import hookimpl

__all__ = ["leftbehind_eligibility_policies"]


@hookimpl(trylast=True)
def leftbehind_eligibility_policies() -> list[PolicyRecord]:
    """The plan's rule (``guangping-plan``, the default) and the national rule of 2016."""
    plan, national = PlanPolicy(), NationalPolicy()
    return [
        PolicyRecord(
            plan.name, plan.version, PlanPolicy, "廣平方案：父母一方或雙方外出務工滿3個月等"
        ),
        PolicyRecord(
            national.name,
            national.version,
            NationalPolicy,
            "國發〔2016〕13號：農村戶籍、未滿16周歲",
        ),
    ]
