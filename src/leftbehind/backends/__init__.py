"""Built-in storage backends: ``memory://`` and the embedded default, TinyDB (a file path).

Each module is a plugin that registers itself through ``leftbehind_storage_backends``; open a store
with :meth:`leftbehind.plugins.Plugins.open_store` rather than importing a backend directly.
"""
