"""Alert rules rendered from data (SLOs) and the checks shared by every rules file."""
