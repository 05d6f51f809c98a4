// What the leads pages show of the catalogue: the picker on the lead form, the links on the lead page.
import type { ViewContext } from '../views/context.ts';
import type { FormState } from '../views/forms.tsx';
import type { PropertyChoice } from './properties.server.ts';
import { countryLabel } from './views.tsx';

/** Checkboxes (works everywhere without script, also on phones) in a scrolling box. */
export function PropertyPicker({ ctx, form, choices }: { ctx: ViewContext; form: FormState; choices: PropertyChoice[] }) {
  const picked = new Set((form.values.property_ids ?? '').split(',').filter(Boolean));
  const error = form.errors.property_ids;
  return (
    <fieldset class="mb-3" data-testid="property-picker" aria-describedby={`property-picker-help${error ? ' property-picker-error' : ''}`}>
      <legend class="form-label fs-6 mb-1">{ctx.t('property.lead.field')}</legend>
      {choices.length === 0 ? <p class="small text-body-secondary mb-0">{ctx.t('property.lead.none')}</p> : (
        <div class={`property-picker border rounded p-2${error ? ' border-danger' : ''}`}>
          {choices.map((p) => (
            <div class="form-check">
              <input class="form-check-input" type="checkbox" name="property_ids" value={String(p.id)} id={`f-property-${p.id}`} checked={picked.has(String(p.id))} />
              <label class="form-check-label" for={`f-property-${p.id}`}>{p.name} <span class="small text-body-secondary">· {p.city}, {countryLabel(ctx, p.country)}</span></label>
            </div>
          ))}
        </div>
      )}
      <div id="property-picker-help" class="form-text">{ctx.t('property.lead.help')}</div>
      {error && <div id="property-picker-error" class="text-danger small" data-field-error="property_ids">{ctx.t(error)}</div>}
    </fieldset>
  );
}

export function LeadPropertyLinks({ ctx, properties }: { ctx: ViewContext; properties: { id: number; name: string; city: string }[] }) {
  if (properties.length === 0) return <>{ctx.t('lead.notSet')}</>;
  return (
    <ul class="list-unstyled mb-0" data-testid="lead-properties">
      {properties.map((p) => <li><a href={`/properties/${p.id}`}>{p.name}</a> <span class="small text-body-secondary">· {p.city}</span></li>)}
    </ul>
  );
}
