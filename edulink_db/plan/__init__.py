"""The AccessPlan: everything the platform creates, as ordered, frozen data."""
