// The fake HubSpot server (test/fake-hubspot/) keeps itself honest: (a) its answers match HubSpot's
// OpenAPI documents, (b) its limits, conflicts, batch rules, search lag and faults behave as
// HUBSPOT.md §5 describes, (c) the official @hubspot/api-client works against it.
import './fake-hubspot/suites/contract.ts';
import './fake-hubspot/suites/limits.ts';
import './fake-hubspot/suites/records.ts';
import './fake-hubspot/suites/faults.ts';
import './fake-hubspot/suites/sdk.ts';
