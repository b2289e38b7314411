"""The obsbox demo service: a multi-tenant invoicing API, its report worker and fault switches."""
