"""Chat helpers beside Engine's chat methods: context (approved lessons and Vault passages for a reply), export (Markdown)."""
