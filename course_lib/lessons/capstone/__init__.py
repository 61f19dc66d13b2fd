"""The capstone notebook (09): recipes, debugging, a budgeted search, a challenge, your own data."""
