"""``pvopt web``: the household's page (issue #16). Pure parts (security, pages, live state);
the aiohttp server is the adapter :mod:`pvopt.io.web_server`."""
