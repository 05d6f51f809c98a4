// Property catalogue data access and state changes. Only admins reach the writers (routes check first);
// files go to private storage under random keys, rows keep the keys.
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, Property, PropertyDocument, PropertyPhoto, PropertyUnit } from '../db/schema.ts';
import { NotFound, ValidationFailed } from '../platform/errors.ts';
import { newKey } from '../storage/storage.server.ts';
import type { FileStorage } from '../storage/storage.server.ts';
import type { CurrentUser } from '../views/context.ts';
import { MAX_DOCUMENTS, MAX_PHOTOS, moveInOrder, PAGE_SIZE, UNIT_TYPES, type UnitType } from './domain.ts';
import type { PropertyFilters, PropertyInput, UnitInput } from './schemas.ts';
import type { ProcessedPhoto, UploadedFile } from './uploads.server.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

/** A route parameter as a row id; anything else is simply "not found". */
export function idParam(value: string | undefined): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) throw new NotFound();
  return id;
}

export async function findProperty(db: DbLike, id: number, opts: { forUpdate?: boolean } = {}): Promise<Property> {
  let q = db.selectFrom('properties').selectAll().where('id', '=', id);
  if (opts.forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) throw new NotFound();
  return row;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export interface PropertyCard {
  id: number; name: string; country: string; city: string; district: string | null;
  price_from: string; price_to: string | null; created_at: Date; photo_id: number | null; unit_types: UnitType[];
}

const unitOrder = (t: string) => UNIT_TYPES.findIndex((u) => u.value === t);

export async function listProperties(db: DbLike, f: PropertyFilters): Promise<{ items: PropertyCard[]; total: number }> {
  let q = db.selectFrom('properties as p');
  if (f.country) q = q.where('p.country', '=', f.country);
  if (f.city) q = q.where(sql`lower(p.city)`, 'like', `%${escapeLike(f.city.toLowerCase())}%`);
  if (f.price_min) q = q.where(sql`coalesce(p.price_to, p.price_from)`, '>=', sql`${f.price_min}::numeric`);
  if (f.price_max) q = q.where('p.price_from', '<=', sql<string>`${f.price_max}::numeric`);
  if (f.unit_type || f.size_min || f.size_max) {
    // One layout has to match every unit condition at once (a 2-room flat of 60–80 m², not any two).
    q = q.where((eb) => {
      let u = eb.selectFrom('property_units as u').select(sql`1`.as('one')).whereRef('u.property_id', '=', 'p.id');
      if (f.unit_type) u = u.where('u.unit_type', '=', f.unit_type);
      if (f.size_min) u = u.where(sql`coalesce(u.size_to, u.size_from)`, '>=', sql`${f.size_min}::numeric`);
      if (f.size_max) u = u.where('u.size_from', '<=', sql<string>`${f.size_max}::numeric`);
      return eb.exists(u);
    });
  }
  const { total } = await q.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  let page = q.select([
    'p.id', 'p.name', 'p.country', 'p.city', 'p.district', 'p.price_from', 'p.price_to', 'p.created_at',
    (eb) => eb.selectFrom('property_photos as ph').select('ph.id').whereRef('ph.property_id', '=', 'p.id')
      .orderBy('ph.is_main', 'desc').orderBy('ph.position').orderBy('ph.id').limit(1).as('photo_id'),
    (eb) => eb.selectFrom('property_units as pu').select(sql<string | null>`string_agg(distinct pu.unit_type, ',')`.as('types'))
      .whereRef('pu.property_id', '=', 'p.id').as('unit_types'),
  ]);
  page = f.sort === 'price_asc' ? page.orderBy('p.price_from', 'asc').orderBy('p.id', 'desc')
    : f.sort === 'price_desc' ? page.orderBy('p.price_from', 'desc').orderBy('p.id', 'desc')
      : f.sort === 'name' ? page.orderBy(sql`lower(p.name)`).orderBy('p.id')
        : page.orderBy('p.created_at', 'desc').orderBy('p.id', 'desc');
  const rows = await page.limit(PAGE_SIZE).offset((f.page - 1) * PAGE_SIZE).execute();
  return {
    total: Number(total),
    items: rows.map((r) => ({
      ...r,
      photo_id: r.photo_id ?? null,
      unit_types: ((r.unit_types ?? '').split(',').filter(Boolean) as UnitType[]).sort((a, b) => unitOrder(a) - unitOrder(b)),
    })),
  };
}

/** Cities already in the catalogue, for the filter's suggestions. */
export async function knownCities(db: DbLike): Promise<string[]> {
  const rows = await db.selectFrom('properties').select('city').distinct().orderBy('city').limit(200).execute();
  return rows.map((r) => r.city);
}

export interface PropertyDetail {
  property: Property;
  authorName: string | null;
  units: PropertyUnit[];
  photos: PropertyPhoto[];
  documents: PropertyDocument[];
  leadCount: number;
}

export async function propertyDetail(db: DbLike, id: number): Promise<PropertyDetail> {
  const property = await findProperty(db, id);
  const [author, units, photos, documents, leads] = await Promise.all([
    property.created_by ? db.selectFrom('users').select('display_name').where('id', '=', property.created_by).executeTakeFirst() : undefined,
    db.selectFrom('property_units').selectAll().where('property_id', '=', id).orderBy('position').orderBy('id').execute(),
    db.selectFrom('property_photos').selectAll().where('property_id', '=', id).orderBy('position').orderBy('id').execute(),
    db.selectFrom('property_documents').selectAll().where('property_id', '=', id).orderBy('id').execute(),
    db.selectFrom('lead_properties').select((eb) => eb.fn.countAll<number>().as('n')).where('property_id', '=', id).executeTakeFirstOrThrow(),
  ]);
  return { property, authorName: author?.display_name ?? null, units, photos, documents, leadCount: Number(leads.n) };
}

export async function createProperty(db: DbLike, user: CurrentUser, input: PropertyInput, units: UnitInput[]): Promise<Property> {
  const property = await db.insertInto('properties').values({ ...input, created_by: user.id, updated_by: user.id }).returningAll().executeTakeFirstOrThrow();
  await saveUnits(db, property.id, units);
  return property;
}

export async function updateProperty(db: DbLike, user: CurrentUser, id: number, input: PropertyInput, units: UnitInput[]): Promise<Property> {
  await findProperty(db, id, { forUpdate: true });
  const property = await db.updateTable('properties').set({ ...input, updated_by: user.id, updated_at: sql`now()` })
    .where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  await saveUnits(db, id, units);
  return property;
}

/** The form is the whole list: rows with a known id are updated, new rows added, missing ones removed. */
async function saveUnits(db: DbLike, propertyId: number, units: UnitInput[]): Promise<void> {
  const existing = new Set((await db.selectFrom('property_units').select('id').where('property_id', '=', propertyId).execute()).map((u) => u.id));
  const kept = new Set<number>();
  for (const [position, { id, ...unit }] of units.entries()) {
    if (id !== null && existing.has(id) && !kept.has(id)) {
      kept.add(id);
      await db.updateTable('property_units').set({ ...unit, position }).where('id', '=', id).execute();
    } else {
      await db.insertInto('property_units').values({ ...unit, position, property_id: propertyId }).execute();
    }
  }
  const gone = [...existing].filter((id) => !kept.has(id));
  if (gone.length) await db.deleteFrom('property_units').where('id', 'in', gone).execute();
}

/** Deletes the project and everything under it; returns the storage keys to remove once committed. */
export async function deleteProperty(db: DbLike, id: number): Promise<string[]> {
  await findProperty(db, id, { forUpdate: true });
  const photos = await db.selectFrom('property_photos').select(['storage_key', 'thumb_key']).where('property_id', '=', id).execute();
  const docs = await db.selectFrom('property_documents').select('storage_key').where('property_id', '=', id).execute();
  await db.deleteFrom('properties').where('id', '=', id).execute();
  return [...photos.flatMap((p) => [p.storage_key, p.thumb_key]), ...docs.map((d) => d.storage_key)];
}

// Photos ---------------------------------------------------------------------------------------------

export async function countFiles(db: DbLike, propertyId: number): Promise<{ photos: number; documents: number }> {
  const [p, d] = await Promise.all([
    db.selectFrom('property_photos').select((eb) => eb.fn.countAll<number>().as('n')).where('property_id', '=', propertyId).executeTakeFirstOrThrow(),
    db.selectFrom('property_documents').select((eb) => eb.fn.countAll<number>().as('n')).where('property_id', '=', propertyId).executeTakeFirstOrThrow(),
  ]);
  return { photos: Number(p.n), documents: Number(d.n) };
}

/**
 * Stores the photos and adds them after the existing ones; the first photo a project gets becomes its main
 * one. Returns every storage key written (the caller cleans them up if the transaction does not commit).
 */
export async function addPhotos(db: DbLike, storage: FileStorage, user: CurrentUser, propertyId: number, photos: ProcessedPhoto[], written: string[]): Promise<void> {
  if (photos.length === 0) return;
  await findProperty(db, propertyId, { forUpdate: true }); // serialises concurrent uploads to one project
  const { photos: count } = await countFiles(db, propertyId);
  if (count + photos.length > MAX_PHOTOS) throw new ValidationFailed({ photos: 'property.upload.tooManyPhotos' });
  const last = await db.selectFrom('property_photos').select((eb) => eb.fn.max('position').as('max')).where('property_id', '=', propertyId).executeTakeFirst();
  const hasMain = await db.selectFrom('property_photos').select('id').where('property_id', '=', propertyId).where('is_main', '=', true).executeTakeFirst();
  let position = (last?.max ?? -1) + 1;
  for (const [i, photo] of photos.entries()) {
    const storageKey = newKey(`properties/${propertyId}`, 'webp');
    const thumbKey = newKey(`properties/${propertyId}/thumbs`, 'webp');
    written.push(storageKey, thumbKey);
    await storage.put(storageKey, photo.full, 'image/webp');
    await storage.put(thumbKey, photo.thumb, 'image/webp');
    await db.insertInto('property_photos').values({
      property_id: propertyId, storage_key: storageKey, thumb_key: thumbKey, content_type: 'image/webp', width: photo.width, height: photo.height,
      size_bytes: photo.full.length, original_name: photo.originalName, position: position++, is_main: !hasMain && i === 0, uploaded_by: user.id,
    }).execute();
  }
}

export async function findPhoto(db: DbLike, propertyId: number, photoId: number): Promise<PropertyPhoto> {
  const photo = await db.selectFrom('property_photos').selectAll().where('id', '=', photoId).where('property_id', '=', propertyId).executeTakeFirst();
  if (!photo) throw new NotFound();
  return photo;
}

export async function setMainPhoto(db: DbLike, propertyId: number, photoId: number): Promise<void> {
  await findProperty(db, propertyId, { forUpdate: true });
  await findPhoto(db, propertyId, photoId);
  await db.updateTable('property_photos').set({ is_main: false }).where('property_id', '=', propertyId).where('is_main', '=', true).execute();
  await db.updateTable('property_photos').set({ is_main: true }).where('id', '=', photoId).execute();
}

export async function movePhoto(db: DbLike, propertyId: number, photoId: number, direction: 'up' | 'down'): Promise<void> {
  await findProperty(db, propertyId, { forUpdate: true });
  await findPhoto(db, propertyId, photoId);
  const ids = (await db.selectFrom('property_photos').select('id').where('property_id', '=', propertyId).orderBy('position').orderBy('id').execute()).map((p) => p.id);
  for (const [position, id] of moveInOrder(ids, photoId, direction).entries()) {
    await db.updateTable('property_photos').set({ position }).where('id', '=', id).execute();
  }
}

/** Removes one photo; when it was the main one, the first remaining photo takes its place. Returns its keys. */
export async function deletePhoto(db: DbLike, propertyId: number, photoId: number): Promise<string[]> {
  await findProperty(db, propertyId, { forUpdate: true });
  const photo = await findPhoto(db, propertyId, photoId);
  await db.deleteFrom('property_photos').where('id', '=', photo.id).execute();
  if (photo.is_main) {
    const next = await db.selectFrom('property_photos').select('id').where('property_id', '=', propertyId).orderBy('position').orderBy('id').limit(1).executeTakeFirst();
    if (next) await db.updateTable('property_photos').set({ is_main: true }).where('id', '=', next.id).execute();
  }
  return [photo.storage_key, photo.thumb_key];
}

// Documents ------------------------------------------------------------------------------------------

export interface NewDocument { file: UploadedFile; mime: string; description: string | null }

export async function addDocuments(db: DbLike, storage: FileStorage, user: CurrentUser, propertyId: number, docs: NewDocument[], written: string[]): Promise<void> {
  if (docs.length === 0) return;
  await findProperty(db, propertyId, { forUpdate: true });
  const { documents: count } = await countFiles(db, propertyId);
  if (count + docs.length > MAX_DOCUMENTS) throw new ValidationFailed({ documents: 'property.upload.tooManyDocuments' });
  for (const doc of docs) {
    const ext = doc.mime === 'application/pdf' ? 'pdf' : doc.mime.startsWith('image/') ? doc.mime.slice(6).replace('jpeg', 'jpg') : 'docx';
    const key = newKey(`properties/${propertyId}/documents`, ext);
    written.push(key);
    await storage.put(key, doc.file.data, doc.mime);
    await db.insertInto('property_documents').values({
      property_id: propertyId, storage_key: key, filename: doc.file.filename, content_type: doc.mime, size_bytes: doc.file.data.length,
      description: doc.description, uploaded_by: user.id,
    }).execute();
  }
}

export async function findDocument(db: DbLike, propertyId: number, documentId: number): Promise<PropertyDocument> {
  const doc = await db.selectFrom('property_documents').selectAll().where('id', '=', documentId).where('property_id', '=', propertyId).executeTakeFirst();
  if (!doc) throw new NotFound();
  return doc;
}

export async function deleteDocument(db: DbLike, propertyId: number, documentId: number): Promise<string[]> {
  await findProperty(db, propertyId, { forUpdate: true });
  const doc = await findDocument(db, propertyId, documentId);
  await db.deleteFrom('property_documents').where('id', '=', doc.id).execute();
  return [doc.storage_key];
}

// Leads ----------------------------------------------------------------------------------------------
// The leads module names a lead's projects through these, never through the tables.

export interface PropertyChoice { id: number; name: string; city: string; country: string }

export function propertyChoices(db: DbLike): Promise<PropertyChoice[]> {
  return db.selectFrom('properties').select(['id', 'name', 'city', 'country']).orderBy(sql`lower(name)`).orderBy('id').limit(500).execute();
}

/** Throws ValidationFailed({ property_ids }) when any id is not a project in the catalogue. */
export async function assertPropertiesExist(db: DbLike, ids: number[]): Promise<void> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return;
  const found = await db.selectFrom('properties').select('id').where('id', 'in', unique).execute();
  if (found.length !== unique.length) throw new ValidationFailed({ property_ids: 'validation.choose' });
}

export async function setLeadProperties(db: DbLike, leadId: number, ids: number[]): Promise<void> {
  const unique = [...new Set(ids)];
  await db.deleteFrom('lead_properties').where('lead_id', '=', leadId)
    .$if(unique.length > 0, (q) => q.where('property_id', 'not in', unique)).execute();
  if (unique.length) {
    await db.insertInto('lead_properties').values(unique.map((property_id) => ({ lead_id: leadId, property_id })))
      .onConflict((oc) => oc.columns(['lead_id', 'property_id']).doNothing()).execute();
  }
}

export function propertiesForLead(db: DbLike, leadId: number): Promise<{ id: number; name: string; city: string }[]> {
  return db.selectFrom('lead_properties as lp').innerJoin('properties as p', 'p.id', 'lp.property_id')
    .select(['p.id', 'p.name', 'p.city']).where('lp.lead_id', '=', leadId).orderBy(sql`lower(p.name)`).execute();
}
