import { type Kysely, sql } from 'kysely';

// The property catalogue (projects, their unit layouts, photos, documents, and which leads asked about
// them) and the knowledge base (categories, Markdown articles). Files live in private storage; rows keep
// only their random keys.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('properties')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('country', 'varchar(100)', (c) => c.notNull())
    .addColumn('city', 'varchar(100)', (c) => c.notNull())
    .addColumn('district', 'varchar(100)')
    .addColumn('price_from', 'numeric(15, 2)', (c) => c.notNull().check(sql`price_from >= 0`))
    .addColumn('price_to', 'numeric(15, 2)')
    .addColumn('payment_terms', 'varchar(1000)')
    .addColumn('description', 'varchar(2000)')
    // A user who leaves keeps nothing hostage: the project stays, its author becomes unknown.
    .addColumn('created_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('updated_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('properties_price_range', sql`price_to is null or price_to >= price_from`)
    .execute();
  await sql`create index properties_created_idx on properties (created_at desc, id desc)`.execute(db);
  await sql`create index properties_country_city_idx on properties (country, lower(city))`.execute(db);
  await sql`create index properties_price_idx on properties (price_from)`.execute(db);

  await db.schema
    .createTable('property_units')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('property_id', 'integer', (c) => c.notNull().references('properties.id').onDelete('cascade'))
    .addColumn('unit_type', 'varchar(10)', (c) => c.notNull().check(sql`unit_type in ('studio', '1', '2', '3', '4', '5', '6')`))
    .addColumn('size_from', 'numeric(8, 2)', (c) => c.notNull().check(sql`size_from > 0`))
    .addColumn('size_to', 'numeric(8, 2)')
    .addColumn('price', 'numeric(15, 2)', (c) => c.notNull().check(sql`price >= 0`))
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('property_units_size_range', sql`size_to is null or size_to >= size_from`)
    .execute();
  await sql`create index property_units_property_idx on property_units (property_id, position, id)`.execute(db);
  await sql`create index property_units_type_idx on property_units (unit_type, property_id)`.execute(db);

  await db.schema
    .createTable('property_photos')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('property_id', 'integer', (c) => c.notNull().references('properties.id').onDelete('cascade'))
    .addColumn('storage_key', 'varchar(200)', (c) => c.notNull().unique())
    .addColumn('thumb_key', 'varchar(200)', (c) => c.notNull().unique())
    .addColumn('content_type', 'varchar(50)', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('original_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_main', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('uploaded_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('uploaded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index property_photos_property_idx on property_photos (property_id, position, id)`.execute(db);
  // At most one main photo per project, whatever two admins click at the same moment.
  await sql`create unique index property_photos_one_main on property_photos (property_id) where is_main`.execute(db);

  await db.schema
    .createTable('property_documents')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('property_id', 'integer', (c) => c.notNull().references('properties.id').onDelete('cascade'))
    .addColumn('storage_key', 'varchar(200)', (c) => c.notNull().unique())
    .addColumn('filename', 'varchar(255)', (c) => c.notNull())
    .addColumn('content_type', 'varchar(100)', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('description', 'varchar(500)')
    .addColumn('uploaded_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('uploaded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index property_documents_property_idx on property_documents (property_id, id)`.execute(db);

  // Which projects a lead's client is interested in (agents see only counts on the project page).
  await db.schema
    .createTable('lead_properties')
    .addColumn('lead_id', 'integer', (c) => c.notNull().references('leads.id').onDelete('cascade'))
    .addColumn('property_id', 'integer', (c) => c.notNull().references('properties.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('lead_properties_pkey', ['lead_id', 'property_id'])
    .execute();
  await sql`create index lead_properties_property_idx on lead_properties (property_id)`.execute(db);

  await db.schema
    .createTable('knowledge_categories')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index knowledge_categories_name_key on knowledge_categories (lower(name))`.execute(db);

  await db.schema
    .createTable('knowledge_articles')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    // A category with articles cannot be deleted (the admin moves them first).
    .addColumn('category_id', 'integer', (c) => c.notNull().references('knowledge_categories.id').onDelete('restrict'))
    .addColumn('title', 'varchar(200)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull().check(sql`char_length(body) between 1 and 50000`))
    .addColumn('created_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('updated_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index knowledge_articles_category_idx on knowledge_articles (category_id, title)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('knowledge_articles').execute();
  await db.schema.dropTable('knowledge_categories').execute();
  await db.schema.dropTable('lead_properties').execute();
  await db.schema.dropTable('property_documents').execute();
  await db.schema.dropTable('property_photos').execute();
  await db.schema.dropTable('property_units').execute();
  await db.schema.dropTable('properties').execute();
}
