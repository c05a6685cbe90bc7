"""Access control without Streamlit: users file, lockout, audit log, cookie checks, SSO mapping.

The Streamlit side (forms, buttons, navigation) is :mod:`analytics.ui.auth`; everything that
decides lives here so it is unit-tested and shared with the ``analytics.cli.users`` CLI.
"""
