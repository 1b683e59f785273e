"""The pure domain of leftbehind: functions over frozen attrs values, no storage, no clock.

It imports only attrs and the standard library (an import-linter contract holds it to that).
"""
