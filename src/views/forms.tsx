// Form fields that keep what the user typed and show the message next to the field.
import type { FieldErrors } from '../platform/errors.ts';
import type { MessageKey } from '../platform/i18n.ts';
import type { ViewContext } from './context.ts';

export interface FormState {
  values: Record<string, string>;
  errors: FieldErrors;
}

export const emptyForm = (values: Record<string, string> = {}): FormState => ({ values, errors: {} });

interface FieldProps {
  ctx: ViewContext;
  form: FormState;
  name: string;
  label: MessageKey;
  type?: 'text' | 'email' | 'password' | 'tel' | 'number' | 'date';
  required?: boolean;
  help?: MessageKey;
  autocomplete?: string;
  inputmode?: 'text' | 'email' | 'tel' | 'numeric' | 'decimal';
  maxLength?: number;
  minLength?: number;
}

export function Field({ ctx, form, name, label, type = 'text', required, help, autocomplete, inputmode, maxLength, minLength }: FieldProps) {
  const error = form.errors[name];
  const id = `f-${name}`;
  const describedBy = [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="mb-3">
      <label for={id} class="form-label">{ctx.t(label)}{required ? ' *' : ''}</label>
      <input
        id={id} name={name} type={type as 'text'} class={`form-control${error ? ' is-invalid' : ''}`}
        value={type === 'password' ? '' : (form.values[name] ?? '')}
        required={required} autocomplete={autocomplete} inputMode={inputmode} maxLength={maxLength} minLength={minLength}
        aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy}
      />
      {help && <div id={`${id}-help`} class="form-text">{ctx.t(help)}</div>}
      {error && <div id={`${id}-error`} class="invalid-feedback" data-field-error={name}>{ctx.t(error)}</div>}
    </div>
  );
}

export function FormErrorSummary({ ctx, form }: { ctx: ViewContext; form: FormState }) {
  const general = form.errors._;
  if (Object.keys(form.errors).length === 0) return null;
  return <div class="alert alert-danger" role="alert" data-testid="form-errors">{ctx.t(general ?? 'validation.formErrors')}</div>;
}

export interface SelectOption { value: string; label: string }

interface SelectProps {
  ctx: ViewContext;
  form: FormState;
  name: string;
  label: MessageKey;
  options: SelectOption[];
  required?: boolean;
  help?: MessageKey;
  placeholder?: MessageKey;
}

/** A select that keeps the chosen value; a stored value outside the list (from HubSpot) stays selectable. */
export function SelectField({ ctx, form, name, label, options, required, help, placeholder }: SelectProps) {
  const error = form.errors[name];
  const id = `f-${name}`;
  const current = form.values[name] ?? '';
  const all = current && !options.some((o) => o.value === current) ? [...options, { value: current, label: current }] : options;
  return (
    <div class="mb-3">
      <label for={id} class="form-label">{ctx.t(label)}{required ? ' *' : ''}</label>
      <select id={id} name={name} class={`form-select${error ? ' is-invalid' : ''}`} required={required} aria-invalid={error ? 'true' : undefined}
        aria-describedby={[help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined}>
        <option value="">{ctx.t(placeholder ?? 'lead.choose')}</option>
        {all.map((o) => <option value={o.value} selected={o.value === current}>{o.label}</option>)}
      </select>
      {help && <div id={`${id}-help`} class="form-text">{ctx.t(help)}</div>}
      {error && <div id={`${id}-error`} class="invalid-feedback" data-field-error={name}>{ctx.t(error)}</div>}
    </div>
  );
}
