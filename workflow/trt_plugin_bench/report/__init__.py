"""From tables to answers: aggregate, derived tables, figures, summary, MLflow, and the verdict that compares two runs."""
