"""crm-scoring: daily engagement and churn-risk scores for a multi-tenant CRM."""
