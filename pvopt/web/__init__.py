"""``pvopt web``: the household's page (issue #16); pure parts here, the framework in an adapter."""
