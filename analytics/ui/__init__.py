"""The only streamlit-aware code: the page frame, the login gate, pickers and page blocks."""
