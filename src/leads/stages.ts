// The one pipeline/stage map (PRODUCT.md §4.2), used to show a synced lead's stage and, later, by the
// sync engine in both directions. Stage 3204738258 is labelled "Новая заявка" (decided: docs/decisions).
import type { LeadStatus } from './domain.ts';

export interface Stage { id: string; label: string; status: LeadStatus }

export const LEADS_PIPELINE_ID = '2341107958';

export const DEFAULT_STAGES: Stage[] = [
  { id: '3204738258', label: 'Новая заявка', status: 'new' },
  { id: '3204738259', label: 'Отправлены варианты/Передан на партнеров', status: 'contacted' },
  { id: '3204738261', label: 'Назначена встреча/тур', status: 'qualified' },
  { id: '3204738262', label: 'Встреча/тур проведены', status: 'qualified' },
  { id: '3204738265', label: 'Переговоры', status: 'qualified' },
  { id: '3204738266', label: 'Задаток', status: 'qualified' },
  { id: '3204738267', label: 'Сделка закрыта', status: 'closed' },
];

export function stageById(id: string | null | undefined, stages: Stage[] = DEFAULT_STAGES): Stage | undefined {
  return stages.find((s) => s.id === id);
}

/** The stage a local status change is pushed as (the first stage of that status). */
export function stageForStatus(status: LeadStatus, stages: Stage[] = DEFAULT_STAGES): Stage {
  return stages.find((s) => s.status === status) ?? stages[0]!;
}
